"""Protocol-faithful local doubles of the vendors' servers, for tests.

Each double is a real server on a loopback port (HTTP and, where the vendor uses it, WebSocket),
started in a background thread of the test process so a test can script its failure modes.
"""
