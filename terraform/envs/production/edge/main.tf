# Edge root: the environment's CloudFront distribution in front of every region, with its
# CLOUDFRONT-scope WAF web ACL, the secret origin header and the api host's alias
# (modules/edge). Applied once per environment, after the regional roots of var.regions
# (../, one state per region) have their ALBs and DNS records (docs/deploy.md, step 8).

module "edge" {
  source = "../../../modules/edge"
  providers = {
    aws           = aws
    aws.us_east_1 = aws.us_east_1
    random        = random
  }

  name                         = "weather-${var.environment}"
  environment                  = var.environment
  zone_name                    = var.zone_name
  api_host                     = var.api_host
  regions                      = var.regions
  waf_rate_limit_per_5_minutes = var.waf_rate_limit_per_5_minutes
  price_class                  = var.price_class
}
