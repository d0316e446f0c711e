"""The live dashboard (pyqtgraph): MainWindow (app) redraws its views on a QTimer from the snapshot the
LiveController (controller) peeks at, or from a replayed trial file (replay). Started by
`hinge-station dashboard` (station.commands.dashboard). Issue 19's drills: the wall as the hip target
(wall_view) and the breathing cue (breathing, with its tone)."""
