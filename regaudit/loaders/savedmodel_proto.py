"""The protobuf messages a SavedModel audit reads, declared here so that no TensorFlow is needed.

Why the `protobuf` package and not a hand-written wire reader: it is the reference decoder, it
already refuses truncated input, bad wire types and over-deep nesting, and it skips unknown
fields for us, so a partial schema is enough. Why a schema built here rather than a generated
`_pb2` module: generated code pins the protobuf runtime it was generated for, and tf_keras /
tensorflow register the same message names in the default pool; a private pool avoids both.

Only the fields regaudit reads are declared; protobuf skips the others (the graph, functions,
variables, signatures). Field numbers are those of:

- tf_keras/protobuf/saved_metadata.proto and versions.proto (tf_keras 2.21; the same in
  tensorflow/python/keras/protobuf since TF 2.5), the message in `keras_metadata.pb`:

      message SavedMetadata { repeated SavedObject nodes = 1; }
      message SavedObject {
        reserved 1;
        int32 node_id = 2; string node_path = 3; string identifier = 4; string metadata = 5;
        VersionDef version = 6;
      }
      message VersionDef { int32 producer = 1; int32 min_consumer = 2; repeated int32 bad_consumers = 3; }

- tensorflow/core/protobuf/saved_model.proto, meta_graph.proto and saved_object_graph.proto
  (TF 2.0 to 2.21), for `saved_model.pb`, where TF 2.0 to 2.4 kept the same metadata:

      message SavedModel { int64 saved_model_schema_version = 1; repeated MetaGraphDef meta_graphs = 2; }
      message MetaGraphDef { ... SavedObjectGraph object_graph_def = 7; }
      message SavedObjectGraph { repeated SavedObject nodes = 1; ... }
      message SavedObject {            // TensorFlow's, not tf_keras's
        repeated ObjectReference children = 1;
        oneof kind { SavedUserObject user_object = 4; ... }
      }
      message ObjectReference { int32 node_id = 1; string local_name = 2; }
      message SavedUserObject { string identifier = 1; VersionDef version = 2; string metadata = 3; }
"""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any


_PACKAGE = "regaudit.savedmodel"
# (field name, number, type, repeated, message type for TYPE_MESSAGE fields)
_MESSAGES: dict[str, list[tuple[str, int, str, bool, str | None]]] = {
    "VersionDef": [
        ("producer", 1, "int32", False, None),
        ("min_consumer", 2, "int32", False, None),
        ("bad_consumers", 3, "int32", True, None),
    ],
    "SavedMetadata": [("nodes", 1, "message", True, "KerasObject")],
    "KerasObject": [  # tf_keras's SavedObject
        ("node_id", 2, "int32", False, None),
        ("node_path", 3, "string", False, None),
        ("identifier", 4, "string", False, None),
        ("metadata", 5, "string", False, None),
        ("version", 6, "message", False, "VersionDef"),
    ],
    "SavedModel": [("meta_graphs", 2, "message", True, "MetaGraphDef")],
    "MetaGraphDef": [("object_graph_def", 7, "message", False, "SavedObjectGraph")],
    "SavedObjectGraph": [("nodes", 1, "message", True, "GraphObject")],
    "GraphObject": [  # TensorFlow's SavedObject
        ("children", 1, "message", True, "ObjectReference"),
        ("user_object", 4, "message", False, "SavedUserObject"),
    ],
    "ObjectReference": [("node_id", 1, "int32", False, None), ("local_name", 2, "string", False, None)],
    "SavedUserObject": [
        ("identifier", 1, "string", False, None),
        ("version", 2, "message", False, "VersionDef"),
        ("metadata", 3, "string", False, None),
    ],
}


def message_classes() -> dict[str, Any]:
    """The message classes by name (`SavedMetadata`, `SavedModel`, ...), built in a private pool."""
    from google.protobuf import descriptor_pb2, descriptor_pool, message_factory

    field = descriptor_pb2.FieldDescriptorProto
    types = {"int32": field.TYPE_INT32, "string": field.TYPE_STRING, "message": field.TYPE_MESSAGE}
    file = descriptor_pb2.FileDescriptorProto(name="regaudit/savedmodel.proto", package=_PACKAGE, syntax="proto3")
    for name, fields in _MESSAGES.items():
        message = file.message_type.add(name=name)
        for field_name, number, kind, repeated, message_type in fields:
            message.field.add(
                name=field_name,
                number=number,
                type=types[kind],
                label=field.LABEL_REPEATED if repeated else field.LABEL_OPTIONAL,
                type_name=f".{_PACKAGE}.{message_type}" if message_type else None,
            )
    pool = descriptor_pool.DescriptorPool()
    pool.AddSerializedFile(file.SerializeToString())
    # GetMessageClass is protobuf >= 4.22; TensorFlow 2.12 era environments pin older releases.
    message_class = getattr(message_factory, "GetMessageClass", None) or message_factory.MessageFactory(pool).GetPrototype
    return {name: message_class(pool.FindMessageTypeByName(f"{_PACKAGE}.{name}")) for name in _MESSAGES}
