"""Pure ComfyUI logic: template loading and patching, sizes and frame counts, reading the wire shapes."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest

from app.core.errors import TerminalBackendError, TransientBackendError, WorkflowError
from app.core.settings.comfyui import ComfyUISettings
from app.services.backend import Readiness, hosts_readiness
from app.services.clip.base import ClipRequest
from app.services.clip.comfyui import clip_prompt
from app.services.comfyui.protocol import (
    FileRef,
    history_failure,
    output_files,
    prompt_rejection,
    read_ws_event,
    ws_url,
)
from app.services.comfyui.workflows import (
    IMAGE_MARKS,
    VIDEO_MARKS,
    Values,
    fit_size,
    frame_count,
    load_workflow,
    parse_workflow,
    patch,
)
from app.services.keyframe.base import KeyframeRequest
from app.services.keyframe.comfyui import keyframe_prompt
from app.services.scheduling import HostPool

PID = "5f0c6bde-0000-4000-8000-000000000001"


def qwen_graph() -> dict:
    return copy.deepcopy(load_workflow("qwen_image_t2i").graph)


@pytest.mark.parametrize(("name", "marks", "output_class"), [
    ("qwen_image_t2i", IMAGE_MARKS, "SaveImage"),
    ("sdxl_t2i", IMAGE_MARKS, "SaveImage"),
    ("hunyuan15_i2v", VIDEO_MARKS, "SaveVideo"),
])
def test_built_in_templates_load_with_their_marks(name, marks, output_class):
    workflow = load_workflow(name, marks)
    assert workflow.graph[workflow.output_node]["class_type"] == output_class
    batches = [n["inputs"]["batch_size"] for n in workflow.graph.values() if "batch_size" in n["inputs"]]
    assert batches == [1]


def test_hunyuan_template_is_the_upstream_node_chain():
    workflow = load_workflow("hunyuan15_i2v", VIDEO_MARKS)
    classes = {node["class_type"] for node in workflow.graph.values()}
    assert {"DualCLIPLoader", "CLIPVisionEncode", "HunyuanVideo15ImageToVideo", "ModelSamplingSD3", "CFGGuider",
            "BasicScheduler", "KSamplerSelect", "RandomNoise", "SamplerCustomAdvanced", "CreateVideo"} <= classes
    assert workflow.native_size == (1280, 720)
    assert workflow.native_fps == 24


def test_patch_fills_marked_nodes_forces_batch_one_and_leaves_the_template_alone():
    graph = qwen_graph()
    graph["58"]["inputs"]["batch_size"] = 2  # the upstream's setting
    workflow = parse_workflow("qwen", graph)
    patched = patch(workflow, Values(prompt="a lighthouse at dusk", seed=2**64 + 7, width=1024, height=576,
                                     negative="blurry"))
    assert patched["6"]["inputs"]["text"] == "a lighthouse at dusk"
    assert patched["7"]["inputs"]["text"] == "blurry"
    assert patched["3"]["inputs"]["seed"] == 7
    assert patched["58"]["inputs"] == {"width": 1024, "height": 576, "batch_size": 1}
    assert graph["58"]["inputs"]["batch_size"] == 2 and graph["6"]["inputs"]["text"] == ""
    assert "noise_seed" not in patched["3"]["inputs"]


def test_patch_keeps_the_template_negative_when_none_is_given():
    workflow = load_workflow("sdxl_t2i")
    patched = patch(workflow, Values(prompt="p", seed=1, width=512, height=512))
    assert patched["7"]["inputs"]["text"] == workflow.graph["7"]["inputs"]["text"]


def test_patch_of_the_i2v_template_sets_image_frames_size_and_noise_seed():
    workflow = load_workflow("hunyuan15_i2v", VIDEO_MARKS)
    patched = patch(workflow, Values(prompt="she turns", seed=42, width=960, height=960, image="in/start.png",
                                     frames=49))
    assert patched["14"]["inputs"]["image"] == "in/start.png"
    assert patched["16"]["inputs"]["text"] == "she turns"
    assert patched["23"]["inputs"]["noise_seed"] == 42
    i2v = patched["18"]["inputs"]
    assert (i2v["width"], i2v["height"], i2v["length"], i2v["batch_size"]) == (960, 960, 49, 1)
    assert i2v["start_image"] == ["14", 0]


@pytest.mark.parametrize(("mutate", "problem"), [
    (lambda g: g["3"]["inputs"].update(model=["99", 0]), "links to missing node 99"),
    (lambda g: g["8"].pop("class_type"), "node 8 has no class_type"),
    (lambda g: g["3"]["_meta"].update(title="KSampler"), "no node is marked @seed"),
    (lambda g: g["8"]["_meta"].update(title="VAE Decode @seed"), "node 8 is marked @seed but has none"),
    (lambda g: g["8"]["_meta"].update(title="@sharpen"), "unknown mark @sharpen"),
])
def test_parse_workflow_names_what_is_wrong(mutate, problem):
    graph = qwen_graph()
    mutate(graph)
    with pytest.raises(WorkflowError, match=problem):
        parse_workflow("broken", graph)


def test_load_workflow_reads_a_path_and_lists_built_ins_for_an_unknown_name(tmp_path: Path):
    path = tmp_path / "mine.json"
    path.write_text(json.dumps(qwen_graph()))
    assert load_workflow(str(path)).name == "mine"
    with pytest.raises(WorkflowError, match="hunyuan15_i2v, qwen_image_t2i, sdxl_t2i"):
        load_workflow("flux_t2i")


@pytest.mark.parametrize(("request_size", "expected"), [
    ((1280, 720), (1280, 720)),
    ((720, 1280), (720, 1280)),
    ((1000, 1000), (960, 960)),
    ((320, 180), (1280, 720)),
])
def test_fit_size_keeps_the_aspect_at_the_template_pixel_count(request_size, expected):
    assert fit_size(*request_size, area=1280 * 720) == expected


@pytest.mark.parametrize(("duration", "max_frames", "expected"), [
    (5.0, 121, 121),   # 120 frames wanted → 121 (4k+1)
    (1.5, 121, 37),    # 36 → 37
    (2.0, 121, 49),
    (10.0, 121, 121),  # capped; the clip then holds its last frame
    (3.0, 64, 61),     # cap rounded down to 4k+1
    (0.01, 121, 1),
])
def test_frame_count_is_4k_plus_1_covering_the_shot_and_capped(duration, max_frames, expected):
    assert frame_count(duration, 24, max_frames=max_frames) == expected


def test_prompt_400_with_node_errors_is_terminal_with_the_node_message():
    body = {"error": {"type": "prompt_outputs_failed_validation", "message": "Prompt outputs failed validation",
                      "details": "", "extra_info": {}},
            "node_errors": {"4": {"class_type": "CheckpointLoaderSimple", "dependent_outputs": ["9"],
                                  "errors": [{"type": "value_not_in_list", "message": "Value not in list",
                                              "details": "ckpt_name: 'x.safetensors' not in []", "extra_info": {}}]}}}
    error = prompt_rejection(400, json.dumps(body))
    assert isinstance(error, TerminalBackendError)
    assert error.code == "prompt_outputs_failed_validation"
    assert error.message == ("node 4 (CheckpointLoaderSimple): Value not in list: ckpt_name: 'x.safetensors' "
                             "not in []")


def test_prompt_400_without_node_errors_uses_the_error_message():
    body = {"error": {"type": "missing_node_type", "message": "Node 'Upscale' not found.", "details": "Node ID '#5'",
                      "extra_info": {}}, "node_errors": {}}
    error = prompt_rejection(400, json.dumps(body))
    assert (error.code, error.message) == ("missing_node_type", "Node 'Upscale' not found. Node ID '#5'")
    assert prompt_rejection(400, json.dumps({"error": "no prompt", "node_errors": []})).message == "no prompt"


def test_prompt_5xx_is_transient():
    error = prompt_rejection(500, "500 Internal Server Error\n\nServer got itself in trouble")
    assert isinstance(error, TransientBackendError) and error.code == "http_500"


def test_ws_events_for_our_prompt_give_progress_and_completion():
    assert read_ws_event({"type": "status", "data": {"status": {"exec_info": {"queue_remaining": 1}}}}, PID) is None
    assert read_ws_event({"type": "progress", "data": {"value": 5, "max": 20, "prompt_id": "other"}}, PID) is None
    assert read_ws_event({"type": "progress", "data": {"value": 5, "max": 20, "prompt_id": PID}}, PID).progress == 0.25
    assert read_ws_event({"type": "execution_success", "data": {"prompt_id": PID}}, PID).done
    assert read_ws_event({"type": "executing", "data": {"node": None, "prompt_id": PID}}, PID).done
    assert not read_ws_event({"type": "executing", "data": {"node": "3", "prompt_id": PID}}, PID).done


def test_ws_execution_error_is_terminal_with_the_node_and_exception():
    data = {"prompt_id": PID, "node_id": "3", "node_type": "KSampler", "exception_type": "RuntimeError",
            "exception_message": "mat1 and mat2 shapes cannot be multiplied\n", "traceback": [], "executed": []}
    with pytest.raises(TerminalBackendError) as caught:
        read_ws_event({"type": "execution_error", "data": data}, PID)
    assert caught.value.code == "execution_error"
    assert caught.value.message == "node 3 (KSampler): RuntimeError: mat1 and mat2 shapes cannot be multiplied"


def test_history_failure_reads_the_execution_error_message():
    entry = {"outputs": {}, "status": {"status_str": "error", "completed": False, "messages": [
        ["execution_start", {"prompt_id": PID}],
        ["execution_error", {"prompt_id": PID, "node_id": "24", "node_type": "SamplerCustomAdvanced",
                             "exception_message": "Allocation on device", "exception_type": "torch.OutOfMemoryError"}],
    ]}}
    assert history_failure(entry).message == ("node 24 (SamplerCustomAdvanced): torch.OutOfMemoryError: "
                                              "Allocation on device")
    assert history_failure({"outputs": {}, "status": {"status_str": "success", "completed": True}}) is None


def test_output_files_are_found_under_any_key():
    entry = {"outputs": {"27": {"images": [{"filename": "clip_00001_.mp4", "subfolder": "video", "type": "output"}],
                                "animated": [True]},
                         "30": {"gifs": [{"filename": "v.mp4", "subfolder": "", "type": "output",
                                          "format": "video/h264"}]}}}
    assert output_files(entry, "27") == [FileRef("clip_00001_.mp4", "video", "output")]
    assert output_files(entry, "30") == [FileRef("v.mp4")]
    assert output_files(entry, "9") == []


def test_ws_url_follows_the_base_url_scheme():
    assert ws_url("http://10.0.0.5:8188", "abc") == "ws://10.0.0.5:8188/ws?clientId=abc"
    assert ws_url("https://gpu.example/comfy", "abc") == "wss://gpu.example/comfy/ws?clientId=abc"


def test_hosts_setting_splits_and_refuses_non_http_urls():
    settings = ComfyUISettings(HOSTS=" http://a:8188/, http://b:8189 ,http://a:8188")
    assert settings.host_urls == ("http://a:8188", "http://b:8189")
    with pytest.raises(ValueError, match="not an http"):
        ComfyUISettings(HOSTS="file:///srv/comfy")


def test_hosts_readiness_names_the_down_host():
    up, down = Readiness(ready=True), Readiness(ready=False, detail="ConnectError")
    report = hosts_readiness("ComfyUI", {"http://a:8188": up, "http://b:8189": down})
    assert not report.ready and report.detail == "ComfyUI host down: http://b:8189 (ConnectError)"
    assert hosts_readiness("ComfyUI", {"http://a:8188": up}).ready


async def test_lease_hands_out_the_free_host_and_gives_up_after_the_wait():
    pool, hosts = HostPool(), ["http://a", "http://b"]
    async with pool.lease(hosts, wait_s=1, backend="comfyui", label="ComfyUI") as first:
        async with pool.lease(hosts, wait_s=1, backend="comfyui", label="ComfyUI") as second:
            assert {first.host, second.host} == {"http://a", "http://b"}
            with pytest.raises(TransientBackendError, match="no ComfyUI host became free within 0.05 s"):
                async with pool.lease(hosts, wait_s=0.05, backend="comfyui", label="ComfyUI"):
                    pass
    assert pool.busy == frozenset()


def keyframe(**changes) -> KeyframeRequest:
    fields = {"story_title": "t", "style": "水彩", "shot_id": "s1", "sequence": 1, "subject": "小狐狸",
              "image_detail": "水彩风格，小狐狸站在雪地里，清晨的光", "camera": "固定镜头", "tone": "温暖",
              "width": 1280, "height": 720, "seed": 7}
    return KeyframeRequest(**{**fields, **changes})


def test_keyframe_prompt_adds_style_and_subject_only_when_missing():
    assert keyframe_prompt(keyframe()) == "水彩风格，小狐狸站在雪地里，清晨的光"
    assert keyframe_prompt(keyframe(style="油画")) == "油画，水彩风格，小狐狸站在雪地里，清晨的光"
    english = keyframe(style="watercolor", subject="a fox", image_detail="snowy field at dawn")
    assert keyframe_prompt(english) == "watercolor, a fox, snowy field at dawn"


def test_clip_prompt_prefers_the_english_rewrite():
    request = ClipRequest(keyframe_path=Path("k.png"), prompt="狐狸转身", camera="固定镜头", duration=2,
                          width=640, height=360, fps=24)
    assert clip_prompt(request) == "狐狸转身"
    assert clip_prompt(request.model_copy(update={"prompts": {"en": "The fox turns.", "zh": "狐狸"}})) == \
        "The fox turns."
