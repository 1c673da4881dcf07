#!/usr/bin/env bash
# Deployment step 8: build both images and push them to ECR under a release tag and :latest.
#   infra/scripts/push-images.sh [TAG] [PLATFORM]   (defaults: git short sha, linux/amd64)
# The optimized profile runs the backend on Graviton: build with PLATFORM=linux/arm64
# (or linux/amd64,linux/arm64 for both).
set -euo pipefail
cd "$(dirname "$0")/../.."
tag="${1:-$(git rev-parse --short HEAD)}"
platform="${2:-linux/amd64}"
region="${AWS_REGION:-us-east-1}"
account="$(aws sts get-caller-identity --query Account --output text)"
registry="$account.dkr.ecr.$region.amazonaws.com"

aws ecr get-login-password --region "$region" | docker login --username AWS --password-stdin "$registry"
for target in backend worker; do
  docker buildx build --platform "$platform" --target "$target" \
    -t "$registry/openwan-$target:$tag" -t "$registry/openwan-$target:latest" --push .
done
echo "pushed tag $tag; deploy it with: cdk deploy -c image_tag=$tag"
