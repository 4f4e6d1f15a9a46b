"""Our eventsourcing extensions, below the domain: generic, importing nothing else of ours."""
