// The part of @aws-sdk/client-auto-scaling that the Auto Scaling adapter (../autoscaling.ts) uses, and the only module that imports it as a value.
// NOTE: the bundle `gild` runs (src/bin/build-engine.js) holds just these exports, tree-shaken from the SDK's ES
// modules: the package's entry point is one CommonJS file with every command of the service, and loading it was most
// of gild's start-up. The sources (tests, jiti) re-export the package as it is.
export { AutoScalingClient, paginateDescribeAutoScalingGroups, paginateDescribeLaunchConfigurations } from '@aws-sdk/client-auto-scaling';
