"""Where Undertow keeps what it has read: records in SQL, vectors in Chroma."""
