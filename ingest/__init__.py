"""Reading exports (JSONL, CSV, .eml, .mbox, text/Markdown) into Documents."""
