"""The commented example config `nightly --print-example-config` prints."""

# --- the example printed by `--print-example-config` ---------------------------------------------

EXAMPLE_CONFIG = """\
# Undertow nightly job: `undertow nightly --config nightly.toml`
# Relative paths are read from this file's folder; ~ is your home folder.
# `undertow nightly --config nightly.toml --dry-run` checks this file and lists what would be read.

# The store (default: $UNDERTOW_HOME, else ~/.undertow). Set it only to pin this job to one
# store whatever the environment says.
# home = "~/.undertow"

# Classifier: "local" (offline, the default), "llm" or "hybrid". The last two need an
# OpenAI-compatible endpoint: OPENAI_API_KEY / OPENAI_BASE_URL, or [llm] in HOME/config.toml.
backend = "local"

# Processes that embed, each with its share of the cores (like `ingest --workers`); one writer
# classifies and stores. 2 on a 2-core machine is about 1.3x faster than 1. Local embedding only.
# workers = 2

# One [[sources]] table per export. A source that is missing or has bad lines is reported,
# its bad input quarantined under HOME/quarantine/, and the other sources still run.
[[sources]]
name = "call notes"                  # how the summary names it (default: its first path)
paths = ["~/exports/notes"]          # files or folders: .jsonl .csv .eml .mbox .txt .md .pdf .docx

[[sources]]
name = "helpdesk"
paths = ["~/exports/tickets.csv"]
# CSV columns for fields whose header Undertow does not recognise (like --map).
map = { text = "Description", account_id = "Organization" }

[[sources]]
name = "shared inbox"
paths = ["~/exports/inbox.mbox"]
own_domain = ["vendor.io"]           # your mail domains, so the customer side is found

[[sources]]
name = "Acme escalation"
paths = ["~/exports/acme-escalation"]
account = "acme"                     # account id for files that do not name one
# dayfirst = false                   # read 03/11/2026 as March 11 (default: day first, with a warning)
# date_format = "%m/%d/%Y %H:%M"     # or the exact date format of the export
# max_chars = 100000                 # longest text kept per document

# The CRM export to score, one row per account.
[accounts]
path = "~/exports/accounts.csv"
# map = { account_id = "Salesforce ID", arr = "ARR (USD)" }
# as_of = 2026-10-01                 # score as of this date (default: today)
# scorecard = "scorecard.yaml"       # default: HOME/scorecard.yaml if present, else the bundled one
# snapshot = true                    # keep tonight's scores, so tomorrow shows the trend

[outputs]
annotated = "~/reports/accounts-annotated.csv"   # .csv, .json or .parquet
summary = "~/reports/nightly-summary.json"       # optional: this run's summary as JSON
"""
