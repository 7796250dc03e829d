"""What is written after training: the models measured, the report, the chart, the model cards, the ONNX export, the
Hub push and the search's report."""
