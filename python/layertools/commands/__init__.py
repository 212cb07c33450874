"""Command-line handlers, one module per subcommand."""
