"""What thread noise costs the classifier, and what separating the new text wins back.

Helpdesk and CRM exports carry whole threads: the new message, a signature, a legal disclaimer,
and the earlier messages, quoted with ">" or pasted under an Outlook header block. This wraps each
labelled document of a set in such noise (the earlier message is another document of the set, so
its signals are old news that must not be flagged again), then scores three readings:
the document alone, the wrapped text as exported, and the wrapped text after ingestion's
separation (`ingest.thread.new_text`). Run on development sets: they are not test looks.

    python -m undertow.eval.thread_noise [SET.jsonl ...] [--json]
"""

from __future__ import annotations

import json
import random
import sys
from pathlib import Path

from undertow.documents import Document
from undertow.eval.datasets import load_documents, standard_sets
from undertow.eval.runner import evaluate
from undertow.ingest.clean import clean_text
from undertow.ingest.thread import new_text

_ATTRIBUTION = {
    "en": "On {day} at 09:12, {name} <{mail}> wrote:",
    "it": "Il giorno {day} alle 09:12 {name} <{mail}> ha scritto:",
    "de": "Am {day} um 09:12 schrieb {name} <{mail}>:",
    "fr": "Le {day} à 09:12, {name} <{mail}> a écrit :",
    "es": "El {day} a las 09:12, {name} <{mail}> escribió:",
    "pt": "Em {day} às 09:12, {name} <{mail}> escreveu:",
    "nl": "Op {day} om 09:12 schreef {name} <{mail}>:",
}
_HEADER = {
    "en": ("From", "Sent", "To", "Subject"),
    "it": ("Da", "Inviato", "A", "Oggetto"),
    "de": ("Von", "Gesendet", "An", "Betreff"),
    "fr": ("De", "Envoyé", "À", "Objet"),
    "es": ("De", "Enviado", "Para", "Asunto"),
    "pt": ("De", "Enviado", "Para", "Assunto"),
    "nl": ("Van", "Verzonden", "Aan", "Onderwerp"),
}
_CLOSING = {
    "en": "Best regards", "it": "Cordiali saluti", "de": "Viele Grüße", "fr": "Cordialement",
    "es": "Saludos", "pt": "Atenciosamente", "nl": "Met vriendelijke groet",
}
_DISCLAIMER = {
    "en": "This e-mail and any attachments are confidential and intended solely for the addressee. "
          "If you received it in error, please delete it.",
    "it": "Questa e-mail è riservata ed è destinata esclusivamente al destinatario indicato. Se l'avete ricevuta per errore, cancellatela.",
    "de": "Diese E-Mail ist vertraulich und nur für den genannten Empfänger bestimmt. Wenn Sie sie irrtümlich erhalten haben, löschen Sie sie bitte.",
    "fr": "Ce message est confidentiel et destiné uniquement à son destinataire. Si vous l'avez reçu par erreur, merci de le supprimer.",
    "es": "Este mensaje es confidencial y está dirigido únicamente a su destinatario. Si lo ha recibido por error, elimínelo.",
    "pt": "Esta mensagem é confidencial e destina-se apenas ao destinatário. Se a recebeu por engano, apague-a.",
    "nl": "Deze e-mail is vertrouwelijk en uitsluitend bestemd voor de geadresseerde. Heeft u hem abusievelijk ontvangen, verwijder hem dan.",
}


def wrap(document: Document, earlier: Document, rng: random.Random) -> str:
    """`document`'s text as a helpdesk export shows it: signature, disclaimer, the earlier message."""
    language = document.language if document.language in _ATTRIBUTION else "en"
    name, mail, day = "Sam Keller", "sam.keller@vendor.example", "Tue, 3 Mar 2026"
    signature = f"{_CLOSING[language]},\nAlex\n-- \nAlex Moreau | Operations\n+44 20 7946 0000"
    shape = rng.choice(("quoted", "outlook", "disclaimer"))
    parts = [document.text, signature]
    if shape == "quoted":
        quoted = "\n".join(f"> {line}" for line in earlier.text.splitlines())
        parts.append(_ATTRIBUTION[language].format(day=day, name=name, mail=mail) + "\n" + quoted)
    elif shape == "outlook":
        sender, sent, to, subject = _HEADER[language]
        header = f"{sender}: {name} <{mail}>\n{sent}: {day} 09:12\n{to}: Alex Moreau\n{subject}: RE: follow-up"
        parts.append(header + "\n\n" + earlier.text)
    parts.append(_DISCLAIMER[language])
    return "\n\n".join(parts)


def noise_figures(documents: list[Document], classifier, signals: list[str], seed: int = 11) -> dict[str, dict]:
    rng = random.Random(seed)
    earlier = documents[:]
    rng.shuffle(earlier)
    wrapped = [doc.model_copy(update={"text": wrap(doc, old, rng)}) for doc, old in zip(documents, earlier)]
    separated = [doc.model_copy(update={"text": new_text(clean_text(doc.text))}) for doc in wrapped]
    figures = {}
    for reading, docs in (("alone", documents), ("wrapped, as exported", wrapped), ("wrapped, new text separated", separated)):
        report, _, _ = evaluate(classifier, docs, signals)
        figures[reading] = {
            "macro_f1": report["macro_f1"],
            "quiet_false_alarm_rate": report.get("quiet_false_alarm_rate"),
            "silent_dissatisfaction_f1": report["per_signal"].get("silent_dissatisfaction", {}).get("f1"),
        }
    return figures


def main(argv: list[str]) -> None:
    from undertow.extractor.local_backend import LocalClassifier
    from undertow.prompts import signal_names

    as_json = "--json" in argv
    paths = [Path(a) for a in argv if not a.startswith("--")] or standard_sets("dev")
    classifier = LocalClassifier()
    results = {}
    for path in paths:
        results[str(path)] = noise_figures(load_documents(path, labelled=True), classifier, signal_names())
    if as_json:
        print(json.dumps(results, indent=2))
        return
    for path, figures in results.items():
        print(path)
        for reading, values in figures.items():
            print(f"  {reading:<30} " + "  ".join(f"{k} {v:.3f}" if isinstance(v, float) else f"{k} {v}" for k, v in values.items()))


if __name__ == "__main__":
    main(sys.argv[1:])
