"""One module per `kiosk` subcommand; `kiosk.cli` parses and dispatches. These modules may
print: they talk to the operator."""
