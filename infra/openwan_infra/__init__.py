"""OpenWan deployment as code (AWS CDK). Never imported by the runtime package."""
