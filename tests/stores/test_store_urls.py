"""`--state` URLs pick and configure a store; boto3's own retry settings are honoured."""

from __future__ import annotations

import pytest

from diva_core.errors import ConfigError
from diva_runtime import aws
from diva_runtime.stores import open_store
from diva_runtime.stores.dynamodb import DynamoDBStateStore
from diva_runtime.stores.file import FileStateStore
from diva_runtime.stores.s3 import S3StateStore


def test_file_url_opens_the_file_store(tmp_path):
    store = open_store(f"file:{tmp_path}/state.json")
    assert isinstance(store, FileStateStore)


def test_s3_url_names_bucket_and_key_and_passes_endpoint_and_region():
    store = open_store("s3://my-bucket/diva/state.json", endpoint_url="http://127.0.0.1:5000", region="eu-west-1")
    assert isinstance(store, S3StateStore)
    assert (store.bucket, store.key, store.description) == ("my-bucket", "diva/state.json",
                                                            "s3://my-bucket/diva/state.json")
    assert store.client.meta.endpoint_url == "http://127.0.0.1:5000"
    assert store.client.meta.region_name == "eu-west-1"


def test_dynamodb_url_defaults_to_the_hub_layout():
    store = open_store("dynamodb://diva-hub")
    assert isinstance(store, DynamoDBStateStore)
    assert (store.key_attribute, store.key_prefix, store.description) == ("pk", "state#", "dynamodb://diva-hub")


def test_dynamodb_url_with_an_upstream_key_has_no_prefix():
    store = open_store("dynamodb://diva-upstream?key=event_id")
    assert (store.key_attribute, store.key_prefix) == ("event_id", "")
    assert store.description == "dynamodb://diva-upstream?key=event_id"


def test_dynamodb_url_prefix_may_carry_an_escaped_hash():
    store = open_store("dynamodb://hub?prefix=111122223333%23state%23")
    assert store.key_prefix == "111122223333#state#"


@pytest.mark.parametrize("url, complaint", [
    ("s3://bucket-only", "expected s3://bucket/key"),
    ("dynamodb://", "expected dynamodb://table"),
    ("dynamodb://t/extra", "expected dynamodb://table"),
    ("dynamodb://t?sort=sk", "takes only key= "),
    ("dynamodb://t?prefix=a#b", "%23"),
    ("dynamodb://t?key=", "key= needs an attribute name"),
    ("redis://x", "unknown store"),
])
def test_malformed_urls_are_configuration_errors_naming_the_url(url, complaint):
    with pytest.raises(ConfigError, match=complaint) as error:
        open_store(url)
    assert url in str(error.value)


def test_stores_build_no_client_until_used():
    store = open_store("dynamodb://lazy")
    assert store._client is None


def test_retry_mode_chosen_in_boto3_configuration_is_kept(monkeypatch):
    monkeypatch.setenv("AWS_RETRY_MODE", "adaptive")
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "3")
    retries = aws.client("dynamodb", region="us-east-1").meta.config.retries
    assert retries["mode"] == "adaptive" and retries["total_max_attempts"] == 3


def test_legacy_retry_mode_is_replaced_by_standard(monkeypatch):
    monkeypatch.setenv("AWS_RETRY_MODE", "legacy")
    retries = aws.client("s3", region="us-east-1").meta.config.retries
    assert retries["mode"] == "standard"
    assert retries["total_max_attempts"] == 1 + aws.RETRY_CONFIG["max_attempts"]  # botocore normalizes
