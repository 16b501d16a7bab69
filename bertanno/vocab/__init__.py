"""Domain vocabulary: term lists, extending a model's tokenizer and embeddings with them, mining
candidate terms, inspecting what an extension changes, and domain-adaptive masked-LM training."""
