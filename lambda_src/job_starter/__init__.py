"""The job starter: a custom resource that smoke-tests the deployed grader and starts a Bedrock RFT job."""
