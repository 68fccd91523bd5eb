"""The helpers every loader, reader and LLM caller shares: one-line errors, YAML overlays, column
matching, and the chat call's failures and cost."""

from __future__ import annotations

from types import SimpleNamespace

import httpx
import openai
import pytest
from pydantic import BaseModel, ConfigDict, ValidationError, field_validator

from undertow.columns import header_key, match_columns
from undertow.errors import one_line
from undertow.extractor.chat import (
    ChatError,
    ChatInvalidAnswer,
    ChatRefused,
    ChatTimeout,
    ChatUnreachable,
    StructuredChat,
    Usage,
)
from undertow.overlay import OverlayError, deep_merge, layers, load_overlay, read_yaml, validate
from langchain_core.messages import HumanMessage, SystemMessage

from undertow.settings import LLMSettings


# --- one-line errors -------------------------------------------------------------------------------
class Step(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str
    minutes: int = 0


class Plan(BaseModel):
    model_config = ConfigDict(extra="forbid")
    steps: list[Step]
    by_team: dict[str, Step] = {}


def validation_error(model: type[BaseModel], data: dict) -> ValidationError:
    with pytest.raises(ValidationError) as caught:
        model.model_validate(data)
    return caught.value


def test_a_validation_error_names_the_key_counting_items_from_one():
    error = validation_error(Plan, {"steps": [{"name": "a"}, {"name": "b", "minutes": "soon"}]})
    assert one_line(error) == "steps#2.minutes: Input should be a valid integer, unable to parse string as an integer"
    assert one_line(error, "plan.yaml").startswith("plan.yaml: steps#2.minutes: ")


def test_an_unknown_key_lists_the_keys_allowed_there_inside_lists_and_dicts():
    in_list = validation_error(Plan, {"steps": [{"name": "a", "minuets": 3}]})
    assert one_line(in_list, model=Plan) == "steps#1.minuets: unknown key; the keys here are name, minutes"
    in_dict = validation_error(Plan, {"steps": [], "by_team": {"ops": {"name": "x", "owner": "y"}}})
    assert one_line(in_dict, model=Plan) == "by_team.ops.owner: unknown key; the keys here are name, minutes"
    assert one_line(in_dict) == "by_team.ops.owner: unknown key"  # without the model, no list


def test_more_problems_are_counted_and_value_error_prefixes_dropped():
    class Checked(BaseModel):
        a: int
        b: int

        @field_validator("a")
        @classmethod
        def _positive(cls, value: int) -> int:
            if value <= 0:
                raise ValueError("a must be positive")
            return value

    assert one_line(validation_error(Checked, {})) == "a: Field required (and 1 more problem)"
    assert one_line(validation_error(Checked, {"a": -1, "b": 1})) == "a: a must be positive"


def test_other_errors_give_their_first_line_and_their_type_when_asked():
    assert one_line(ValueError("first\nsecond")) == "first"
    assert one_line(ValueError("\n  first after a blank\n")) == "first after a blank"
    assert one_line(OSError("disk full"), "/tmp/x") == "/tmp/x: disk full"
    assert one_line(KeyError("acme"), show_type=True) == "KeyError: 'acme'"
    assert one_line(RuntimeError()) == "RuntimeError"


# --- YAML overlays ---------------------------------------------------------------------------------
class Steps(BaseModel):
    default: list[str] = []
    signals: dict[str, list[str]] = {}


BUNDLED = "default: [look]\nsignals:\n  budget: [call, email]\n  churn: [escalate]\n"


def test_a_yaml_error_names_the_file_and_the_line(tmp_path):
    path = tmp_path / "mine.yaml"
    path.write_text("signals:\n  budget: [call\n", encoding="utf-8")
    with pytest.raises(OverlayError) as caught:
        load_overlay(Steps, BUNDLED, "steps.yaml (bundled)", path, merge=deep_merge)
    message = str(caught.value)
    assert message.startswith(f"{path}: not valid YAML (line 3, column 1: ") and "\n" not in message
    assert isinstance(caught.value, ValueError)  # callers that catch ValueError still do


def test_a_top_level_that_is_not_a_mapping_is_named():
    with pytest.raises(OverlayError, match=r"^x.yaml: expected a mapping .* found a list"):
        read_yaml("- a\n- b\n", "x.yaml")
    assert read_yaml("", "empty.yaml") == {}


def test_deep_merge_merges_mappings_at_any_depth_and_replaces_lists():
    base = {"a": {"b": {"c": 1, "d": 2}, "list": [1, 2]}, "keep": True}
    merged = deep_merge(base, {"a": {"b": {"c": 10}, "list": [3]}, "new": 1})
    assert merged == {"a": {"b": {"c": 10, "d": 2}, "list": [3]}, "keep": True, "new": 1}
    assert base["a"]["b"]["c"] == 1  # the bundled data is not changed


def test_an_overlay_replaces_one_signal_and_keeps_the_rest(tmp_path):
    path = tmp_path / "mine.yaml"
    path.write_text("signals:\n  budget: [call the CFO]\n", encoding="utf-8")
    steps = load_overlay(Steps, BUNDLED, "steps.yaml (bundled)", path, merge=deep_merge)
    assert steps.signals == {"budget": ["call the CFO"], "churn": ["escalate"]} and steps.default == ["look"]
    assert load_overlay(Steps, BUNDLED, "steps.yaml (bundled)", tmp_path / "absent.yaml", merge=deep_merge).signals["budget"] == ["call", "email"]


def test_a_schema_error_names_the_users_file_the_key_and_the_hint(tmp_path):
    path = tmp_path / "mine.yaml"
    path.write_text("signals:\n  budget: call the CFO\n", encoding="utf-8")
    with pytest.raises(OverlayError) as caught:
        load_overlay(Steps, BUNDLED, "steps.yaml (bundled)", path, merge=deep_merge, hint="a list of steps per signal")
    assert str(caught.value) == f"{path}: signals.budget: Input should be a valid list (a list of steps per signal)"


def test_layers_are_the_bundled_file_then_the_users():
    found = layers(BUNDLED, "steps.yaml (bundled)", None)
    assert [origin for _, origin in found] == ["steps.yaml (bundled)"]
    with pytest.raises(OverlayError, match=r"^origin: default#2: Input should be a valid string"):
        validate(Steps, {"default": ["a", 3]}, "origin")


def test_a_users_signal_file_error_names_that_file_and_entry(tmp_path):
    from undertow.prompts import load_signals

    path = tmp_path / "signals.yaml"
    path.write_text("signals:\n  - name: ok_signal\n    definition: fine\n  - name: Bad Name\n    definition: x\n", encoding="utf-8")
    with pytest.raises(ValueError) as caught:
        load_signals(path)
    assert str(caught.value).startswith(f"{path}: signals#2.name: String should match pattern")
    path.write_text("signals:\n  - name: budget_pressure\n    definition: our own words\n  - name: new_one\n    definition: x\n", encoding="utf-8")
    signals = {s.name: s for s in load_signals(path)}
    assert signals["budget_pressure"].definition == "our own words" and "new_one" in signals and "competitor_mention" in signals


# --- columns ---------------------------------------------------------------------------------------
ALIASES = {"id": ("ticket id",), "account_id": ("company", "organization id"), "text": ("body", "description")}


def test_header_spellings_are_matched_loosely():
    assert header_key("  Ticket-ID ") == header_key("ticket id") == "ticket_id"
    match = match_columns(["Ticket ID", "Organization-Id", "Body"], ALIASES, required=("account_id", "text"))
    assert match.columns == {"id": "Ticket ID", "account_id": "Organization-Id", "text": "Body"} and match.missing == []


def test_an_explicit_mapping_to_a_missing_column_is_reported_not_guessed_around():
    match = match_columns(["Company", "Body"], ALIASES, {"account_id": "Customer"}, required=("account_id", "text"))
    assert match.absent_columns == {"account_id": "Customer"}
    assert "account_id" not in match.columns and match.missing == []  # mapped, so not guessed from Company
    assert match.columns == {"text": "Body"}


def test_a_mapped_column_is_claimed_before_the_guesses():
    match = match_columns(["Company", "Description", "Body"], ALIASES, {"account_id": "Company", "text": "Description"})
    assert match.columns == {"account_id": "Company", "text": "Description"}
    match = match_columns(["Body", "Description"], ALIASES, {"id": "Body"}, required=("text",))
    assert match.columns == {"id": "Body", "text": "Description"}  # Body is taken, so text falls to the next alias


def test_unknown_mapped_fields_and_missing_required_fields_are_listed():
    match = match_columns(["Notes"], ALIASES, {"txt": "Notes"}, required=("account_id", "text"))
    assert match.unknown_fields == ["txt"] and match.missing == ["account_id", "text"] and match.columns == {}


def test_the_csv_reader_names_an_unknown_mapped_field(tmp_path):
    from undertow.ingest.tabular import resolve_columns

    _, problems = resolve_columns(["Body", "Org"], {"txt": "Body", "account_id": "Org"})
    assert problems and problems[0].startswith("txt (not a field; the fields are id, account_id")


# --- the chat call ---------------------------------------------------------------------------------
def test_cost_is_counted_from_usage_and_estimated_without_it():
    llm = LLMSettings(input_cost_per_mtok=2.0, output_cost_per_mtok=8.0)
    usage = Usage.of(SimpleNamespace(usage_metadata={"input_tokens": 1000, "output_tokens": 250, "total_tokens": 1250}))
    assert usage == Usage(1000, 250)
    assert usage.cost_usd(llm) == pytest.approx((1000 * 2.0 + 250 * 8.0) / 1e6)
    # A server that reports no usage is never free: about four characters a token, marked estimated.
    assert Usage.of(SimpleNamespace(usage_metadata=None, content="x" * 40), "y" * 400) == Usage(100, 10, estimated=True)
    assert Usage.of(object()).cost_usd(llm) == 0.0
    assert Usage(1000, 250).cost_usd(LLMSettings(base_url="http://127.0.0.1:8080/v1", model="local-model")) is None  # no price claimed


class Verdict(BaseModel):
    present: bool


def chat_answering(result) -> StructuredChat:
    """A StructuredChat whose endpoint answers `result` (an exception is raised instead): the
    model step returns its `raw` message and the parser its `parsed` (or raises `parsing_error`).
    No retries: what is tested is how a failure is typed, not the waits between tries."""
    chat = StructuredChat(LLMSettings(base_url="http://127.0.0.1:9/v1", model="m", max_retries=0), Verdict)

    def send(_messages, **_options):
        if isinstance(result, BaseException):
            raise result
        return result["raw"]

    def parse(_raw):
        if result["parsing_error"] is not None:
            raise result["parsing_error"]
        return result["parsed"]

    chat._runnable = lambda method: (SimpleNamespace(invoke=send), SimpleNamespace(invoke=parse))
    return chat


REQUEST = httpx.Request("POST", "http://127.0.0.1:9/v1/chat/completions")


def status_error(cls, code: int):
    return cls("no", response=httpx.Response(code, request=REQUEST), body=None)


@pytest.mark.parametrize(
    ("raised", "failure", "reason"),
    [
        (openai.APITimeoutError(request=REQUEST), ChatTimeout, "timeout"),
        (openai.APIConnectionError(request=REQUEST), ChatUnreachable, "unreachable"),
        (status_error(openai.AuthenticationError, 401), ChatRefused, "refused"),
        (status_error(openai.NotFoundError, 404), ChatRefused, "refused"),
        (status_error(openai.InternalServerError, 503), ChatError, "error 503"),
        (openai.OpenAIError("odd"), ChatError, "error (OpenAIError)"),
    ],
)
def test_client_errors_become_the_same_typed_failures(raised, failure, reason):
    with pytest.raises(failure) as caught:
        chat_answering(raised).ask([])
    assert caught.value.reason == reason


def test_an_answer_that_is_not_the_schema_is_invalid_and_still_costs():
    raw = SimpleNamespace(usage_metadata={"input_tokens": 30, "output_tokens": 5})
    with pytest.raises(ChatInvalidAnswer) as caught:
        chat_answering({"raw": raw, "parsed": {"present": "perhaps"}, "parsing_error": None}).ask([])
    assert caught.value.usage == Usage(30, 5)  # no messages to re-ask with: one try
    with pytest.raises(ChatInvalidAnswer) as caught:
        chat_answering({"raw": raw, "parsed": {"present": "perhaps"}, "parsing_error": None}).ask([SystemMessage("s"), HumanMessage("u")])
    assert caught.value.usage == Usage(60, 10)  # asked again once with the error, both paid for
    with pytest.raises(ChatInvalidAnswer):
        chat_answering({"raw": raw, "parsed": None, "parsing_error": ValueError("not JSON")}).ask([])
    reply = chat_answering({"raw": raw, "parsed": {"present": True}, "parsing_error": None}).ask([])
    assert reply.answer == Verdict(present=True) and reply.usage == Usage(30, 5)
