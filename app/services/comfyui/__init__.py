"""ComfyUI: the client (HTTP + WebSocket), the pool of hosts, and the workflow templates the
keyframe (app/services/keyframe/comfyui.py) and clip (app/services/clip/comfyui.py) backends share."""
