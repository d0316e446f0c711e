"""The live pyqtgraph dashboard (issue 6): see app.MainWindow and commands/dashboard.py."""
