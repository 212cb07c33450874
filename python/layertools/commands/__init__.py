"""The command line's handlers, one module per subcommand (``eval_command``, ``replay_command`` with the
batch entry and recorded macros, ``memstat_command``), and what they share: ``exit_status``,
``option_flags`` (EvalOptions as flags) and ``progress`` (the terminal's progress line).  The core
(language, engine, recipes, memory statistics) never imports this package."""
