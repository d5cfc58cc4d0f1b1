"""moto's server with two lookups made proportional to what is asked for, answers unchanged.

Why: two moto lookups cost time in proportion to everything moto holds, so with a few hundred
ParallelCluster images the emulator, not the AWS rate limit being measured, binds the benchmarks:

1. EC2 tags. moto answers an AMI's or snapshot's tags through TagBackend.describe_tags(resource-id=
   [id]), which regex-matches every tag in the account, so DescribeImages over N images costs
   O(N x tags) (~0.6 s per call at 300 images). Here a single exact id is looked up in moto's own
   tag dictionary. fnmatch.translate anchors moto's pattern, so an id without wildcards matches
   exactly that key, and its tags come out in the same insertion order.
2. S3 ListObjectVersions deep-copies every version of every key in the bucket before it filters by
   Prefix (~0.5 s per call with 1,000 images' artifacts in one bucket). Here only keys under the
   Prefix are copied. The filter moto applies later is the same startswith(prefix), and the
   pagination markers it skips by are among those keys, so the answer is the same; a KeyMarker
   without a VersionIdMarker (whose skip counts keys outside the prefix too) goes to moto's code.

Everything else is moto's code. The benchmarks use this server; the tests use stock moto; the
self-check (python3 faster_lookups_server.py --self-check, run by the test suite) compares both.
"""

import sys
import threading

from moto.ec2.models.tags import TagBackend
from moto.ec2.utils import EC2_PREFIX_TO_RESOURCE, get_prefix
from moto.s3.models import S3Backend
from moto.s3.utils import _VersionedKeyStore

_scan = TagBackend.describe_tags
_WILDCARDS = set("*?[")


def describe_tags(self, filters=None):
    ids = (filters or {}).get("resource-id")
    if filters and set(filters) == {"resource-id"} and len(ids) == 1 and not (_WILDCARDS & set(ids[0])):
        rid = ids[0]
        kind = EC2_PREFIX_TO_RESOURCE.get(get_prefix(rid), "")
        return [{"resource_id": rid, "key": k, "value": v, "resource_type": kind} for k, v in self.tags.get(rid, {}).copy().items()]
    return _scan(self, filters)


_list_object_versions = S3Backend.list_object_versions
_iterlists = _VersionedKeyStore.iterlists
_listing = threading.local()  # moto's server is threaded: the prefix belongs to this request only


def iterlists(self):
    prefix = getattr(_listing, "prefix", None)
    if not prefix:
        return _iterlists(self)
    return ((k, v) for k, v in _iterlists(self) if k.startswith(prefix))


def list_object_versions(self, bucket_name, delimiter=None, key_marker=None, max_keys=1000, prefix="", version_id_marker=None):
    _listing.prefix = prefix if prefix and not (key_marker and not version_id_marker) else None
    try:
        return _list_object_versions(self, bucket_name, delimiter=delimiter, key_marker=key_marker, max_keys=max_keys, prefix=prefix, version_id_marker=version_id_marker)
    finally:
        _listing.prefix = None


TagBackend.describe_tags = describe_tags
S3Backend.list_object_versions = list_object_versions
_VersionedKeyStore.iterlists = _VersionedKeyStore.lists = iterlists


def self_check():
    """Compares the fast and moto's own paths on backends in memory; exits non-zero on any difference."""
    import boto3
    from moto import mock_aws
    from moto.ec2.models import ec2_backends
    from moto.s3.models import s3_backends

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

        s3 = boto3.client("s3", region_name="us-east-1")
        s3.create_bucket(Bucket="pc-bucket")
        s3.put_bucket_versioning(Bucket="pc-bucket", VersioningConfiguration={"Status": "Enabled"})
        for i in range(12):
            for key in (f"parallelcluster/3.13.0/images/img{i}-x/a.yaml", f"parallelcluster/3.13.0/images/img{i}-x/b/c.sh", f"parallelcluster/3.13.0/images/img{i}0-x/d"):
                s3.put_object(Bucket="pc-bucket", Key=key, Body=b"1")
                s3.put_object(Bucket="pc-bucket", Key=key, Body=b"2")
            s3.delete_object(Bucket="pc-bucket", Key=f"parallelcluster/3.13.0/images/img{i}-x/a.yaml")
        s3b = s3_backends["123456789012"]["aws"]

        def listing(fast, **kw):
            out = (list_object_versions if fast else _list_object_versions)(s3b, "pc-bucket", **kw)
            return [[(v.name, v.version_id, v.is_latest) for v in out[0]], out[1], [(m.name, m.version_id) for m in out[2]], out[3], out[4]]

        queries = [dict(prefix=f"parallelcluster/3.13.0/images/img{i}-x/") for i in range(12)]
        queries += [dict(prefix="parallelcluster/3.13.0/images/img1"), dict(prefix="parallelcluster/", max_keys=7), dict(prefix="parallelcluster/", delimiter="/"), dict(prefix="nothing/"), dict()]
        first = listing(False, prefix="parallelcluster/3.13.0/images/img1", max_keys=3)
        queries += [dict(prefix="parallelcluster/3.13.0/images/img1", max_keys=3, key_marker=first[3], version_id_marker=first[4]), dict(prefix="parallelcluster/3.13.0/images/img1", key_marker=first[3])]
        for q in queries:
            if listing(True, **q) != listing(False, **q):
                sys.exit(f"prefix-first ListObjectVersions differs from moto's for {q}")
        print(f"faster lookups agree with moto's own on {len(probes)} tag queries and {len(queries)} version listings")


if __name__ == "__main__":
    if sys.argv[1:] == ["--self-check"]:
        self_check()
        sys.exit(0)
    from moto.server import main

    sys.exit(main(sys.argv[1:]))
