"""Files to chunks: find page files, read them, clean them, chunk them, and run the pipeline.

``discover`` walks folders, ``read`` decodes bytes, ``clean`` and ``html_text`` turn markdown,
plain-text and HTML pages into clean text with sections, ``chunk`` packs sentences into
model-sized chunks, and ``pipeline`` brings the index in step with the files.
"""
