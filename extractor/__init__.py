"""extractor"""
