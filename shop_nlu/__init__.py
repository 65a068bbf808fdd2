"""Custom Rasa NLU components of the assistant (see each module for why it exists).

- `shop_nlu.sentence_encoder.SentenceEncoderFeaturizer`: issue 14's dense sentence features (config.dense.yml,
  compared with config.yml's pipeline by `make eval-nlu-dense`, docs/results/nlu-dense-comparison.md).
"""
