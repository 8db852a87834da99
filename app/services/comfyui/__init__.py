"""ComfyUI: the client (HTTP + WebSocket), jobs on the shared host pool (app/services/scheduling.py), and the
workflow templates the keyframe (app/services/keyframe/comfyui.py) and clip (app/services/clip/comfyui.py)
backends share."""
