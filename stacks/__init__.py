"""CDK code of the Nova RFT Kit: `config` (the only reader of context), one stack per lifecycle
(`data_stack`, `reward_stack`, `training_stack`) and the constructs they compose (`constructs/`)."""
