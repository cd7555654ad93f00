"""Response tasks: completing them, and the watchdog that escalates passed deadlines."""
