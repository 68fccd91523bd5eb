"""What each command does, without the command line: the CLI parses options, calls one function
here and renders what it returns.

A service takes `Settings` (or a `Home`) and plain values, returns a result object, reports
progress through optional callbacks and raises `UndertowError` subclasses for anything a user can
cause; it never imports typer or rich, and never prints.

- `ingest`: read exports into the store.            - `health`: annotate and backtest account exports.
- `training`: train the local model, reclassify.    - `feedback`: store a CSM's correction, under the lock.
- `evaluation`: classify documents, eval a backend. - `ask`: the brief on one account.
- `status`, `doctor`, `demo`, `bench`, `nightly`: the rest of the commands.
"""
