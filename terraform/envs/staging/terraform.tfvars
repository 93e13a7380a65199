environment = "staging"
account_id  = "111111111111"
region      = "eu-west-1"
az_ids      = ["euw1-az1", "euw1-az2", "euw1-az3"]

vpc_cidr           = "10.41.0.0/16"
single_nat_gateway = true

kubernetes_versions = {
  blue  = "1.33"
  green = "1.33"
}
endpoint_public_access       = true
endpoint_public_access_cidrs = ["203.0.113.0/24"]

apps_instance_types = ["m7i.large"]
apps_min_size       = 3
apps_max_size       = 6

db_instance_class        = "db.t4g.medium"
db_backup_retention_days = 7
redis_node_type          = "cache.t4g.small"

# Usage store (USAGE_REDIS_URL): MemoryDB, one shard, replicas in the other AZs.
memorydb_node_type          = "db.t4g.small"
memorydb_replicas_per_shard = 1

zone_name = "weatherapi.example.com"
api_host  = "api.staging.weatherapi.example.com"
ops_host  = "ops.staging.weatherapi.example.com"

# CloudWatch alarms (modules/alarms) notify this address; confirm the subscription mail.
alarm_subscriptions = [{ protocol = "email", endpoint = "platform-oncall@weatherapi.example.com" }]
