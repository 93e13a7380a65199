# Remote state in S3 with native S3 locking (use_lockfile, Terraform >= 1.10) and
# KMS encryption. The bucket is created once per account (docs/deploy.md "Bootstrap").
# One state per region: for another region run
#   terraform init -backend-config="key=weather/production/REGION/terraform.tfstate"
terraform {
  backend "s3" {
    bucket       = "weatherapi-tfstate-222222222222"
    key          = "weather/production/eu-west-1/terraform.tfstate"
    region       = "eu-west-1"
    encrypt      = true
    kms_key_id   = "alias/weatherapi-tfstate"
    use_lockfile = true
  }
}
