# State moves of the refactor into modules/stack: the first plan after it must show only
# "has moved to", no destroy/create. Keep until both environments (every region) have been
# applied with this version; then these blocks can be deleted.

moved {
  from = aws_kms_key.logs
  to   = module.stack.aws_kms_key.logs
}

moved {
  from = aws_kms_alias.logs
  to   = module.stack.aws_kms_alias.logs
}

moved {
  from = module.network
  to   = module.stack.module.network
}

moved {
  from = module.cluster_blue
  to   = module.stack.module.cluster_blue
}

moved {
  from = module.cluster_green
  to   = module.stack.module.cluster_green
}

moved {
  from = module.addons_blue
  to   = module.stack.module.addons_blue
}

moved {
  from = module.addons_green
  to   = module.stack.module.addons_green
}

moved {
  from = module.data
  to   = module.stack.module.data
}

moved {
  from = module.app_secrets
  to   = module.stack.module.app_secrets
}

moved {
  from = module.app_identity
  to   = module.stack.module.app_identity
}

moved {
  from = module.waf
  to   = module.stack.module.waf
}

moved {
  from = module.ecr
  to   = module.stack.module.ecr
}

moved {
  from = module.dns
  to   = module.stack.module.dns
}
