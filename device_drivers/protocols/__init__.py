"""Device protocols spoken over a :class:`device_drivers.links.Link`."""
