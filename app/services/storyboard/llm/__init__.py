"""LLM storyboard planners (Ollama, DashScope Qwen): prompts, validated replies, assembly."""
