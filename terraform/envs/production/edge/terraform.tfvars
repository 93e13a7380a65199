environment = "production"
account_id  = "222222222222"
home_region = "eu-west-1"

zone_name = "weatherapi.example.com"
api_host  = "api.weatherapi.example.com"

# Primary first: the cached paths' origin group fails over from it to the second; the API
# paths follow the latency records of the regions whose edge_in_service is true.
regions = ["eu-west-1", "us-east-1"]

waf_rate_limit_per_5_minutes = 3000
