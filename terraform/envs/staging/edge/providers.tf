# The default aws provider is the environment's home region (the origin secret; Route53 and
# CloudFront are global). CloudFront takes its certificate and its WAF web ACL from
# us-east-1 only, and the ACL's log group must be there too: aws.us_east_1.

provider "aws" {
  region = var.home_region

  allowed_account_ids = [var.account_id]

  default_tags {
    tags = module.edge.tags
  }
}

provider "aws" {
  alias  = "us_east_1"
  region = "us-east-1"

  allowed_account_ids = [var.account_id]

  default_tags {
    tags = module.edge.tags
  }
}
