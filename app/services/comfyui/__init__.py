"""ComfyUI: the client (HTTP + WebSocket), the pool of hosts, and the workflow templates the
keyframe (app/services/image/comfyui.py) and clip (app/services/video/comfyui.py) backends share."""
