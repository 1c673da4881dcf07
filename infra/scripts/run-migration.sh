#!/usr/bin/env bash
# Deployment step 19: run `openwan migrate` once as a Fargate task and fail unless it exits 0.
#   infra/scripts/run-migration.sh [STACK]        (default stack: OpenWan-seed)
set -euo pipefail
stack="${1:-OpenWan-seed}"

output() {
  aws cloudformation describe-stacks --stack-name "$stack" \
    --query "Stacks[0].Outputs[?OutputKey=='$1'].OutputValue" --output text
}

cluster="$(output ClusterName)"
task_definition="$(output MigrateTaskDefinitionArn)"
subnets="$(output AppSubnetIds)"
security_group="$(output BackendSecurityGroupId)"

task_arn="$(aws ecs run-task \
  --cluster "$cluster" \
  --task-definition "$task_definition" \
  --launch-type FARGATE \
  --started-by openwan-deploy \
  --network-configuration "awsvpcConfiguration={subnets=[$subnets],securityGroups=[$security_group],assignPublicIp=DISABLED}" \
  --query 'tasks[0].taskArn' --output text)"
echo "migration task: $task_arn"

aws ecs wait tasks-stopped --cluster "$cluster" --tasks "$task_arn"
exit_code="$(aws ecs describe-tasks --cluster "$cluster" --tasks "$task_arn" \
  --query "tasks[0].containers[?name=='migrate'].exitCode | [0]" --output text)"
echo "migration exit code: $exit_code (logs: /ecs/openwan-backend, stream prefix migrate/)"
[ "$exit_code" = "0" ]
