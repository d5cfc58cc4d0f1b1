"""moto's server with one change: EC2 tag lookups for a single, exact resource id use moto's own
tag dictionary directly instead of scanning every tag of every resource.

Why: moto answers an AMI's or snapshot's tags through TagBackend.describe_tags(resource-id=[id]),
which regex-matches every tag in the account, so DescribeImages over N images costs O(N x tags).
At a few hundred ParallelCluster images that is ~0.6 s per call and the emulator, not the AWS rate
limit being measured, binds the benchmarks. The answer is unchanged: fnmatch.translate anchors the
pattern, so an id without wildcards matches exactly that key of self.tags, and the keys come out in
the same insertion order. Every other describe_tags call (wildcards, several ids, other filters)
goes to moto's code. The benchmarks use this with --moto-tag-index; the tests use stock moto.
"""

import sys

from moto.ec2.models.tags import TagBackend
from moto.ec2.utils import EC2_PREFIX_TO_RESOURCE, get_prefix

_scan = TagBackend.describe_tags
_WILDCARDS = set("*?[")


def describe_tags(self, filters=None):
    ids = (filters or {}).get("resource-id")
    if filters and set(filters) == {"resource-id"} and len(ids) == 1 and not (_WILDCARDS & set(ids[0])):
        rid = ids[0]
        kind = EC2_PREFIX_TO_RESOURCE.get(get_prefix(rid), "")
        return [{"resource_id": rid, "key": k, "value": v, "resource_type": kind} for k, v in self.tags.get(rid, {}).copy().items()]
    return _scan(self, filters)


TagBackend.describe_tags = describe_tags



def self_check():
    """Compares both paths on a moto backend in memory; exits non-zero on any difference."""
    import boto3
    from moto import mock_aws
    from moto.ec2.models import ec2_backends

    with mock_aws():
        ec2 = boto3.client("ec2", region_name="us-east-1")
        ids = []
        for i in range(20):
            vol = ec2.create_volume(AvailabilityZone="us-east-1a", Size=8)["VolumeId"]
            snap = ec2.create_snapshot(VolumeId=vol)["SnapshotId"]
            ami = ec2.register_image(Name=f"img{i}", RootDeviceName="/dev/xvda", BlockDeviceMappings=[{"DeviceName": "/dev/xvda", "Ebs": {"SnapshotId": snap}}])["ImageId"]
            ec2.create_tags(Resources=[ami, snap], Tags=[{"Key": "parallelcluster:image_id", "Value": f"img{i}"}, {"Key": "n", "Value": str(i)}])
            ids += [ami, snap, vol]
        backend = ec2_backends["123456789012"]["us-east-1"]
        probes = [{"resource-id": [r]} for r in ids + ["ami-00000000", "ami-*", "snap-?"]] + [{"resource-id": ids[:2]}, {"key": ["n"]}, None]
        for f in probes:
            if describe_tags(backend, f) != _scan(backend, f):
                sys.exit(f"indexed tag lookup differs from moto's scan for {f}")
        print(f"indexed tag lookup agrees with moto's scan on {len(probes)} queries")


if __name__ == "__main__":
    if sys.argv[1:] == ["--self-check"]:
        self_check()
        sys.exit(0)
    from moto.server import main

    sys.exit(main(sys.argv[1:]))
