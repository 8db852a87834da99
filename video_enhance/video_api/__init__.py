"""video_api: enhance a video by super-resolution (x1/x2/x4) and frame interpolation (x1/x2/x4), audio kept.

Run from ``video_enhance/``: ``python -m video_api.main`` (or ``./sr_if.sh start``). See video_enhance/README.md.
"""
