# The edge of the environment (CloudFront, its WAF web ACL): one state for all regions, in
# the same bucket as the regional states (docs/deploy.md "Bootstrap").
terraform {
  backend "s3" {
    bucket       = "weatherapi-tfstate-111111111111"
    key          = "weather/staging/edge/terraform.tfstate"
    region       = "eu-west-1"
    encrypt      = true
    kms_key_id   = "alias/weatherapi-tfstate"
    use_lockfile = true
  }
}
