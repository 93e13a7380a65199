environment = "staging"
account_id  = "111111111111"
home_region = "eu-west-1"

zone_name = "weatherapi.example.com"
api_host  = "api.staging.weatherapi.example.com"

# One region: the cached paths' origin group fails over to the latency-routed origin name.
regions = ["eu-west-1"]

waf_rate_limit_per_5_minutes = 2000
