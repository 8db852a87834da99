"""The words both planners share: language detection, vocabulary, camera terms, cues."""
