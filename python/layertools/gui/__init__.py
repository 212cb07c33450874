"""The KLayout-application side: docks, menus and toolbar (owned by the Salt packaging work)."""
