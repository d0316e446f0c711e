"""One module per `hinge-station` subcommand; each has `configure(parser)` and sets `func`."""
