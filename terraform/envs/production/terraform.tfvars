environment = "production"
account_id  = "222222222222"
region      = "eu-west-1"
az_ids      = ["euw1-az1", "euw1-az2", "euw1-az3"]

vpc_cidr           = "10.40.0.0/16"
single_nat_gateway = false

kubernetes_versions = {
  blue  = "1.33"
  green = "1.33"
}
endpoint_public_access = false

apps_instance_types = ["m7i.large", "m7i.xlarge"]
apps_min_size       = 3
apps_max_size       = 15

db_instance_class        = "db.m7g.large"
db_backup_retention_days = 14
redis_node_type          = "cache.m7g.large"

# Usage store (USAGE_REDIS_URL): MemoryDB, one shard, replicas in the other AZs.
memorydb_node_type          = "db.r7g.large"
memorydb_replicas_per_shard = 2

zone_name = "weatherapi.example.com"
api_host  = "api.weatherapi.example.com"
ops_host  = "ops.weatherapi.example.com"

# CloudWatch alarms (modules/alarms) notify this address; confirm the subscription mail.
alarm_subscriptions = [{ protocol = "email", endpoint = "platform-oncall@weatherapi.example.com" }]
