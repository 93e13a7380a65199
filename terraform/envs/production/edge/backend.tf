# The edge of the environment (CloudFront, its WAF web ACL): one state for all regions, in
# the same bucket as the regional states (docs/deploy.md "Bootstrap").
terraform {
  backend "s3" {
    bucket       = "weatherapi-tfstate-222222222222"
    key          = "weather/production/edge/terraform.tfstate"
    region       = "eu-west-1"
    encrypt      = true
    kms_key_id   = "alias/weatherapi-tfstate"
    use_lockfile = true
  }
}
