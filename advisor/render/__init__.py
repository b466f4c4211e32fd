"""Rich rendering: the only place that prints."""
