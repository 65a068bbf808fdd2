"""The NLU fallback: asks the customer to rephrase and counts it.

Rasa would answer `nlu_fallback` with `utter_default` on its own, which never
reaches the action server; this action does the same and increments
`assistant_fallbacks_total` so low-confidence turns show up in the metrics.
"""

from __future__ import annotations

from typing import Any, Dict, List, Text

from rasa_sdk import Action, Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions import telemetry


class ActionFallback(Action):
    def name(self) -> Text:
        return "action_fallback"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]
    ) -> List[Dict[Text, Any]]:
        telemetry.FALLBACKS.inc()
        dispatcher.utter_message(response="utter_default")
        return []
