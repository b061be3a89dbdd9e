"""Service route tests: the virtual S1SP and the harness client, through the real protocol over TCP."""
