"""A recogniser that yields spans found by code (not one regex), with Presidio's metadata and context."""

from __future__ import annotations

from presidio_analyzer import AnalysisExplanation, EntityRecognizer, RecognizerResult

LANG = "fr"
REASON_KEY = "reason"  # recognition metadata: which rule found the span (Presidio keeps it)


class SpanRecognizer(EntityRecognizer):
    """Subclasses implement :meth:`spans` → ``(start, end, entity, score, reason)``; Presidio applies context."""

    ENTITIES: tuple[str, ...] = ()
    CONTEXT: tuple[str, ...] = ()

    def __init__(self):
        super().__init__(
            supported_entities=list(self.ENTITIES),
            name=type(self).__name__,
            supported_language=LANG,
            context=list(self.CONTEXT),
        )

    def load(self) -> None:
        pass

    def spans(self, text: str):
        raise NotImplementedError

    def analyze(self, text, entities, nlp_artifacts=None):
        out = []
        for start, end, entity, score, reason in self.spans(text):
            if entities and entity not in entities:
                continue
            result = RecognizerResult(
                entity,
                start,
                end,
                score,
                AnalysisExplanation(type(self).__name__, score, textual_explanation=reason),
                {
                    RecognizerResult.RECOGNIZER_NAME_KEY: self.name,
                    RecognizerResult.RECOGNIZER_IDENTIFIER_KEY: self.id,
                    REASON_KEY: reason,
                },
            )
            out.append(result)
        return out
